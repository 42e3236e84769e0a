-- done() gets the summary and the latency statistics; this prints them as
-- key=value lines (after the usual report).
function done(summary, latency, requests)
   local e = summary.errors
   print(string.format("requests=%d bytes=%d duration_us=%d", summary.requests, summary.bytes, summary.duration))
   print(string.format("errors=%d", e.connect + e.read + e.write + e.status + e.timeout))
   for _, p in ipairs({ 50, 90, 99, 99.9 }) do
      print(string.format("p%g=%d", p, latency:percentile(p)))
   end
   print(string.format("min=%d max=%d mean=%.1f stdev=%.1f", latency.min, latency.max, latency.mean, latency.stdev))
   -- latency(i): the i-th distinct value and how many requests took it
   local counted = 0
   for i = 1, #latency do
      local _, count = latency(i)
      counted = counted + count
   end
   print(string.format("counted=%d", counted))
end
