-- A different path and header on every request: request() runs once per
-- request and flurry-bench parses what it returns. Each thread has its own
-- Lua state, so each counts from 1.
local n = 0

function request()
   n = n + 1
   wrk.headers["X-Seq"] = n
   return wrk.format("GET", "/item/" .. n)
end
