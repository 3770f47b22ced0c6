-- wrk script for tests/benchmarks/pages.py: GET a random path of a list, as a browser would.
--
--   wrk -t2 -c64 -d10s --latency -s tests/benchmarks/pages.lua http://127.0.0.1:8000 \
--       -- paths.txt nl
--
-- paths.txt holds one path per line (/n/wijk-01, /r/<uuid>, ...); the second argument is the
-- Accept-Language (default nl); an optional third, the Cookie header of a logged-in resident
-- ("nabuur_session=...; nabuur_csrf=..."). Every request is formatted once, in init. Answers are counted
-- by status, and done() prints one line "WRK_JSON {...}" with the totals and the latency
-- percentiles (microseconds) for pages.py to read.

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local headers = {
    ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ["Accept-Language"] = args[2] or "nl",
    ["User-Agent"] = "nabuur-bench-pages (wrk)",
  }
  if args[3] and #args[3] > 0 then
    headers["Cookie"] = args[3]  -- a logged-in resident: session and CSRF seed cookies
  end
  requests = {}
  for line in file:lines() do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", line, headers)
    end
  end
  file:close()
  assert(#requests > 0, "no paths in " .. args[1])
  statuses = {}
  math.randomseed(os.time() * 1000 + thread_number)
end

function request()
  return requests[math.random(#requests)]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
end
