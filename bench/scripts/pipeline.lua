-- HTTP/1.1 pipelining from a script: one request() string that holds
-- several requests (how many: the first argument after "--", default 3).
-- They go out together and the next batch waits for all of their answers.
local batch

function init(args)
   local depth = tonumber(args[1]) or 3
   local parts = {}
   for i = 1, depth do
      parts[i] = wrk.format(nil, "/batch?i=" .. i)
   end
   batch = table.concat(parts)
end

function request()
   return batch
end
