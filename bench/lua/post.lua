-- POST one body (a file) to one path.
-- args: <path> <body file> [Header: value ...]
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local c = require("common")
setup = c.setup
done = c.done
local req

function init(args)
  local h = c.headers(args, 3)
  h["Content-Type"] = "application/fhir+json"
  req = wrk.format("POST", args[1], h, c.read_all(args[2]))
end

function request()
  return req
end
