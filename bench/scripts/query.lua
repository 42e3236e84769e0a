-- A request() function that makes every request different: the URL's path
-- with a counter in the query (?n=1, ?n=2, ...), so any server that answers
-- the path answers these. The harness's dynamic-script case (flurry-bench
-- and wrk run this same file).
local n = 0
local base, sep

function init(args)
   base = wrk.path
   sep = base:find("?", 1, true) and "&" or "?"
end

function request()
   n = n + 1
   return wrk.format(nil, base .. sep .. "n=" .. n)
end
