-- POST one JSON body per request, taken in turn from a file of bodies (one per line),
-- with the write key from the environment variable BENCH_KEY.
-- Usage: BENCH_KEY=rsk_... wrk ... -s bench/wrk/post.lua http://127.0.0.1:PORT -- BODIES_FILE /v1/actions
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local bodies, path, headers
local next_body = 1

function init(args)
   bodies = read_lines(args[1])
   path = args[2] or "/v1/actions"
   local key = os.getenv("BENCH_KEY")
   assert(key and key ~= "", "set BENCH_KEY to a write key")
   headers = {
      ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/json",
   }
   -- Each thread starts at its own place in the list.
   next_body = ((thread_no or 1) - 1) * 97 % #bodies + 1
end

function request()
   local body = bodies[next_body]
   next_body = next_body % #bodies + 1
   return wrk.format("POST", path, headers, body)
end
