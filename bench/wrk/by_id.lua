-- GET <prefix><id> for a random id of a list, one id per line.
-- Usage: wrk ... -s bench/wrk/by_id.lua http://127.0.0.1:PORT -- IDS_FILE /v1/actions/
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local ids, prefix

function init(args)
   ids = read_lines(args[1])
   prefix = args[2] or "/v1/actions/"
   math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
   return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
