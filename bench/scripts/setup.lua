-- setup() runs once per thread before any starts, in a Lua state of its own;
-- thread:set() puts values into the thread's globals and thread:get() reads
-- them back in done().
local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("id", #threads)
   thread:set("tag", { name = "t" .. #threads, weight = 10 * #threads })
end

function init(args)
   sent, answered = 0, 0
end

function request()
   sent = sent + 1
   return wrk.format(nil, "/thread/" .. id .. "/" .. tag.name)
end

function response(status, headers, body)
   answered = answered + 1
end

function done(summary, latency, requests)
   local total = 0
   for _, t in ipairs(threads) do
      local tag = t:get("tag")
      total = total + t:get("answered")
      print(string.format("thread %d (%s, weight %d): sent %d, answered %d",
                          t:get("id"), tag.name, tag.weight, t:get("sent"), t:get("answered")))
   end
   print(string.format("answered %d of %d", total, summary.requests))
end
