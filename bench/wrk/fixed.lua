-- One fixed URL (given on wrk's command line); only reports the summary.
-- Usage: wrk ... -s bench/wrk/fixed.lua 'http://127.0.0.1:PORT/v1/actions?initiator=USA'
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
