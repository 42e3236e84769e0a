-- Wait before every request: delay() returns milliseconds. The wait comes
-- from the script's first argument (after "--"), 100 ms by default.
local wait = 100

function init(args)
   wait = tonumber(args[1]) or wait
   delays = 0
end

function delay()
   delays = delays + 1
   return wait
end
