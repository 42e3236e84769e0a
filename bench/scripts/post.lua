-- A JSON POST: method, body and a header set once, when the script loads.
-- With no request() function, flurry-bench turns wrk.format()'s string into
-- its request once per thread and runs no Lua per request.
wrk.method = "POST"
wrk.body = '{"client":"flurry-bench","kind":"post"}'
wrk.headers["Content-Type"] = "application/json"
