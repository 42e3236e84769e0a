-- Send each thread's requests to an address of our choosing: setup() looks
-- the address up (wrk.lookup), keeps those that accept a connection
-- (wrk.connect) and sets thread.addr. The Host header stays the URL's.
-- FLB_ADDR_PORT (environment) picks another port than the URL's.
function setup(thread)
   local port = os.getenv("FLB_ADDR_PORT") or wrk.port or wrk.scheme
   local usable = {}
   for _, addr in ipairs(wrk.lookup(wrk.host, port)) do
      if wrk.connect(addr) then
         usable[#usable + 1] = addr
      end
   end
   thread.addr = usable[math.random(#usable)]
end

function init(args)
   print("thread addr: " .. tostring(wrk.thread.addr))
end
