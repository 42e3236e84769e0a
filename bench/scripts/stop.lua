-- Each thread stops itself after a number of responses (the first argument
-- after "--", default 50): wrk.thread:stop().
local limit, seen = 50, 0

function init(args)
   limit = tonumber(args[1]) or limit
end

function response()
   seen = seen + 1
   if seen == limit then
      wrk.thread:stop()
   end
end
