-- wrk script: POST /api/v1/avatars/uploads with a bearer token from the TOKEN environment variable.
wrk.method = "POST"
wrk.body = '{"contentType":"image/jpeg","contentLength":123456}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
