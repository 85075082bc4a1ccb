-- The wrk script of the HTTP benchmarks (bench/servers.py `load`): each wrk thread rotates
-- through a list of prepared requests, every answer is checked, and `done` prints one JSON line
-- of figures at the end.
--
--   wrk -t1 -c64 -d10s --latency -s bench/wrk.lua http://127.0.0.1:PORT -- DATA.lua
--
-- DATA.lua returns {headers = {name = value}, requests = {{method, path, body, expect}, ...}}.
-- An answer is an error when its status is outside 2xx or its body holds none of the requests'
-- `expect` strings: wrk does not say which request an answer is for, and every benchmark gives
-- one `expect` to all the requests of a list.

local prepared = {}
local expects = {}
local next_request = 0
bad = 0 -- globals: `done` reads them from each thread with thread:get
first_error = nil

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  local data = dofile(args[1])
  local distinct = {}
  for i, r in ipairs(data.requests) do
    local headers = {}
    for name, value in pairs(data.headers) do
      headers[name] = value
    end
    local body = r[3] ~= "" and r[3] or nil
    prepared[i] = wrk.format(r[1], r[2], headers, body)
    if not distinct[r[4]] then
      distinct[r[4]] = true
      expects[#expects + 1] = r[4]
    end
  end
end

function request()
  next_request = next_request % #prepared + 1
  return prepared[next_request]
end

local function holds_expect(body)
  for _, expect in ipairs(expects) do
    if string.find(body, expect, 1, true) then
      return true
    end
  end
  return false
end

function response(status, headers, body)
  local failed = status < 200 or status > 299 or not holds_expect(body)
  if failed then
    -- wrk counts statuses above 399 itself; count the rest here
    if status <= 399 then
      bad = bad + 1
    end
    first_error = first_error or (status .. " " .. string.sub(body, 1, 200))
  end
end

local function quote(text)
  if text == nil then
    return "null"
  end
  local escaped = string.gsub(text, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
  local expect_failures, first = 0, nil
  for _, thread in ipairs(threads) do
    expect_failures = expect_failures + thread:get("bad")
    first = first or thread:get("first_error")
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  if not first and socket > 0 then
    first = string.format("socket errors: connect %d, read %d, write %d, timeout %d",
      e.connect, e.read, e.write, e.timeout)
  end
  local good = summary.requests - e.status - expect_failures
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "errors": %d, "seconds": %.3f, "rps": %.3f, '
      .. '"p50": %.3f, "p90": %.3f, "p99": %.3f, "first_error": %s}\n',
    good, e.status + expect_failures + socket, seconds, good / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    quote(first)
  ))
end
