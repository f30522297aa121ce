exec env -i gdb -q -batch -ex run -ex bt --args /usr/bin/lua5.1 /tmp/f13/app.lua
