-- wrk script: POST /api/v1/readings with BATCH readings per request, every reading unique.
-- Environment: BATCH (readings per request), SENSORS (how many sensors B-0..B-n), KEY (bearer key),
-- BASE_MS (epoch ms of the first reading). Each reading gets its own millisecond, so no two
-- readings of a run share (sensor, ts) and none is a duplicate. DELAY_MS (optional) paces each
-- connection: that long between a response and its next request (a background load).
local batch = tonumber(os.getenv("BATCH") or "100")
local sensors = tonumber(os.getenv("SENSORS") or "1000")
local key = os.getenv("KEY") or ""
local base = tonumber(os.getenv("BASE_MS"))
local counter = 0
-- VALUES (optional): each sensor's quiet value, comma-separated, B-0 first (bench/ingest gives
-- every pack's kinds theirs); without it, 0.0-3.9 as %LEL.
local values = {}
for v in string.gmatch(os.getenv("VALUES") or "", "[^,]+") do values[#values + 1] = tonumber(v) end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key

local pause = tonumber(os.getenv("DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end

request = function()
  local parts = {}
  for k = 1, batch do
    local n = counter
    counter = counter + 1
    local s = n % sensors
    if #values > 0 then
      -- The sensor's quiet value and up to 0.3 % more: evaluated by its pack's rules, raising nothing.
      -- States and detections (0, 1) stay exact: 1.001 would be a signal fault, not a quiet pump.
      local v = values[s + 1]
      if v ~= 0 and v ~= 1 then v = v * (1 + 0.001 * (n % 4)) end
      parts[k] = string.format('{"sensor":"B-%d","ts":%d,"value":%.4f}', s, base + n, v)
    else
      -- 0.0-3.9 %LEL: every reading is evaluated by the gas rules, none raises (a quiet city).
      parts[k] = string.format('{"sensor":"B-%d","ts":%d,"value":%d.%d}', s, base + n, n % 4, n % 10)
    end
  end
  return wrk.format(nil, "/api/v1/readings", nil, '{"readings":[' .. table.concat(parts, ",") .. ']}')
end

done = function(summary, latency, requests)
  -- summary.requests counts completed responses; socket errors are not among them.
  local ok = summary.requests - summary.errors.status
  io.write(string.format("RESULT requests=%d non2xx=%d socket_errors=%d acknowledged_readings=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    ok * batch, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
