// A net/http/fcgi application as fcgipm's exec mode runs it: the
// listening socket is fd 0, which fcgi.Serve(nil, ...) takes. It answers
// "Hello, NAME from go PID" (NAME from the query's name=, else world).
package main

import (
	"fmt"
	"net/http"
	"net/http/fcgi"
	"os"
)

func hello(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "Hello, %s from go %d\n", name, os.Getpid())
}

func main() {
	if err := fcgi.Serve(nil, http.HandlerFunc(hello)); err != nil {
		fmt.Fprintln(os.Stderr, "fcgi.Serve:", err)
		os.Exit(1)
	}
}
