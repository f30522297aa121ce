# A WSGI application under flup's FastCGI server, as fcgipm's exec mode
# runs it: WSGIServer with no bindAddress takes the listening socket on
# fd 0. It answers "Hello, NAME from python PID" (NAME from the query's
# name=, else world). Needs flup (pip install flup: Debian 12 has no
# python3-flup), so no test runs it.
import os
import re

from flup.server.fcgi import WSGIServer


def app(environ, start_response):
    m = re.search(r"(?:^|&)name=([\w-]+)", environ.get("QUERY_STRING", ""))
    name = m.group(1) if m else "world"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("Hello, %s from python %d\n" % (name, os.getpid())).encode()]


if __name__ == "__main__":
    WSGIServer(app).run()
