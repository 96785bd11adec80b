-- GET paths from a file, each thread walking the list from its own offset.
-- args: <paths file> [Header: value ...]
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local c = require("common")
setup = c.setup
done = c.done
local paths, hdrs, i

function init(args)
  paths = c.lines(args[1])
  hdrs = c.headers(args, 2)
  i = (tid * 7919) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], hdrs)
end
