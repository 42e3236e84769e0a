-- Log in first, then use the session the server handed out: response()
-- reads a response header and request() builds the next requests with it.
local session = nil

function request()
   if session then
      return wrk.format("GET", "/api/data")
   end
   return wrk.format("POST", "/login", nil, "user=bench")
end

function response(status, headers, body)
   if not session and status == 200 then
      session = headers["x-session"] -- header names match whatever their case
      wrk.headers["Authorization"] = "Bearer " .. session
   end
end
