"""gunicorn settings for the web process, read from the environment as Heroku sets it."""

import os

from catalog.config import web_concurrency, web_threads

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = web_concurrency()

# Threaded workers: a sync worker is busy for the whole of a response, so a slow client
# or a long download (a million-item /catalog.json to a client reading at 15 MiB/s takes
# over 30 s) is killed at ``timeout`` and holds a whole process meanwhile. A gthread
# worker's main thread keeps beating the master's timeout while its threads write
# responses, and serves other requests on its other threads; the router sends requests
# over keep-alive connections, which gthread parks in its poller instead of a thread.
# Threads share the process's CPU (the GIL), so processes still give the parallelism:
# WEB_CONCURRENCY processes, each of WEB_THREADS threads, and each thread may hold one of
# the process's DATABASE_POOL_SIZE connections (5 by default, one more than the threads).
worker_class = "gthread"
threads = web_threads()

# Build the app once, in the master, before any worker starts: a bad setting such as a
# missing SECRET_KEY stops the server with its one-line message instead of a traceback
# per worker, and the workers share the loaded code. create_app opens no connection, so
# no database socket is shared across the fork.
preload_app = True

# The router gives up on a request after 30 s: give up first, and on SIGTERM finish
# what is in flight within the 30 s the platform waits before SIGKILL.
timeout = 30
graceful_timeout = 25
keepalive = 5

# Only the router reaches a dyno, from addresses that change: trust its X-Forwarded-*.
forwarded_allow_ips = "*"

# Logs go to the process's output, where the platform collects them. The app logs one
# line per request with its request id (catalog/web/request_log.py), so gunicorn's own
# access log stays off; GUNICORN_CMD_ARGS="--access-logfile -" turns it on.
errorlog = "-"
accesslog = None
loglevel = "info"

# Nothing on a dyno talks to gunicorn's control socket, and several servers on one machine
# (tests, a local run) would fight over its single default path.
control_socket_disable = True
