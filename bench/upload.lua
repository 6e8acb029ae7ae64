-- wrk script: every request is a POST of a 1 MiB body (one body built once).
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
