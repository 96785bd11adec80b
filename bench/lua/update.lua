-- Version-aware updates: PUT with If-Match, the next version learnt from each response's ETag.
-- Each thread owns its share of the resources, so no two requests race for one version.
-- args: <pool file: "Type/id version body" lines, body with __N__> <threads> [Header: value ...]
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local c = require("common")
setup = c.setup
done = c.done
local queue, bodies, hdrs, head, tail, n, bad = {}, {}, nil, 1, 1, 0, 0

function init(args)
  local nthreads = tonumber(args[2])
  for k, line in ipairs(c.lines(args[1])) do
    if (k - 1) % nthreads == tid then
      local path, version, body = line:match("^(%S+)%s+(%d+)%s+(.*)$")
      bodies[path] = body
      queue[tail] = {path, tonumber(version)}
      tail = tail + 1
    end
  end
  hdrs = c.headers(args, 3)
  hdrs["Content-Type"] = "application/fhir+json"
end

function request()
  local item = queue[head]
  if item == nil then
    bad = bad + 1
    wrk.thread:set("bad", bad)
    return wrk.format("GET", "/fhir/metadata")  -- pool exhausted: counted as starved
  end
  queue[head] = nil
  head = head + 1
  n = n + 1
  local body = bodies[item[1]]:gsub("__N__", tostring(n))
  hdrs["If-Match"] = 'W/"' .. item[2] .. '"'
  return wrk.format("PUT", "/fhir/" .. item[1], hdrs, body)
end

function response(status, headers, body)
  local loc = headers["Location"] or headers["location"] or headers["Content-Location"]
    or headers["content-location"]
  local etag = headers["ETag"] or headers["etag"]
  if loc and etag then
    local path = loc:match("/fhir/([^/]+/[^/]+)/_history/") or loc:match("/fhir/([^/]+/[^/?]+)")
    local v = tonumber(etag:match("(%d+)"))
    if path and v and bodies[path] then
      queue[tail] = {path, v}
      tail = tail + 1
    end
  end
end
