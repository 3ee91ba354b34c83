-- Shared by every wrk script of the benchmark (loaded with dofile by each of them).
-- done() prints wrk's summary as one JSON line, prefixed with BENCH_JSON, for bench.py.
-- Errors: `status` counts responses with a status of 400 or more (wrk's rule); the
-- others are socket errors (connect, read, write, timeout).

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
         .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
         .. '"mean_us": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end

-- Numbers the threads so that each seeds its own random sequence.
local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("thread_no", threads)
end

-- The lines of a file, as a list (empty lines skipped).
function read_lines(path)
   local lines = {}
   local f = assert(io.open(path, "r"), "cannot open " .. path)
   for line in f:lines() do
      if line ~= "" then lines[#lines + 1] = line end
   end
   f:close()
   assert(#lines > 0, path .. " is empty")
   return lines
end
