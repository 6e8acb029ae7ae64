-- wrk script: HTTP/1.1 pipelining. Every write carries DEPTH requests
-- (default 16; pass another depth after `--`: wrk ... -s pipeline.lua URL -- 32).
-- wrk counts each response, so Requests/sec is responses per second.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

request = function()
   return req
end
