-- A Lua WSAPI application as fcgipm's exec mode runs it: wsapi.fastcgi
-- accepts on the listening socket on fd 0 (lua-wsapi-fcgi). It answers
-- "Hello, NAME from lua PID" (NAME from the query's name=, else world).
-- Its lfcgi module crashes (SIGSEGV) at the first request when the
-- environment is empty: give the pool one variable (env = {"PATH=..."}).
local fastcgi = require "wsapi.fastcgi"
local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")

local function run(env)
    local name = ("&" .. (env.QUERY_STRING or "")):match("&name=([%w_-]+)")
    local body = "Hello, " .. (name or "world") .. " from lua "
        .. pid .. "\n"
    local function send()
        coroutine.yield(body)
    end
    return 200, { ["Content-Type"] = "text/plain" }, coroutine.wrap(send)
end

fastcgi.run(run)
