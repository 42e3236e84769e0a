-- wrk with HTTP/1.1 pipelining, to compare with flurry-bench --pipeline N and
-- fl_load -P N on equal terms: every write carries DEPTH copies of the
-- request (wrk counts each response), so DEPTH are in flight per connection.
--
--   wrk -t1 -c64 -d3s -s bench/peers/wrk_pipeline.lua URL -- DEPTH
local batch

function init(args)
  local depth = tonumber(args[1] or "8")
  local copies = {}
  for i = 1, depth do copies[i] = wrk.format() end
  batch = table.concat(copies)
end

function request()
  return batch
end
