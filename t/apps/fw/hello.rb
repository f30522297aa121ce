# A Ruby fcgi application as fcgipm's exec mode runs it: FCGI.each takes
# the listening socket on fd 0. It answers "Hello, NAME from ruby PID"
# (NAME from the query's name=, else world).
require "fcgi"

FCGI.each do |req|
  name = req.env["QUERY_STRING"].to_s[/(?:\A|&)name=([\w-]*)/, 1]
  name = "world" if name.nil? || name.empty?
  req.out.print "Content-Type: text/plain\r\n\r\n"
  req.out.print "Hello, #{name} from ruby #{Process.pid}\n"
  req.finish
end
