# Runs a whole one-node OpenStack Swift (account, container, object and proxy servers) in ONE
# Python process, for tests: four processes would each spend a second or more importing Swift.
# Started by test/helpers/swift.ts, which writes the configuration and the rings.
#
#   python3 swift-server.py DIR
#
# DIR holds swift.conf, the rings and account/container/object/proxy-server.conf, each with its
# bind_port. Swift reads swift.conf from /etc/swift unless told otherwise: it is pointed at
# DIR/swift.conf here, so the test needs nothing under /etc. Prints "ready" once all four listen.
import os
import sys

import eventlet

eventlet.monkey_patch()

import swift.common.utils as utils  # noqa: E402

directory = sys.argv[1]
utils.SWIFT_CONF_FILE = os.path.join(directory, 'swift.conf')
utils.validate_hash_conf()

from swift.common import constraints, storage_policy  # noqa: E402

constraints.reload_constraints()
storage_policy.reload_storage_policies()

from eventlet import wsgi  # noqa: E402
from swift.common.utils import NullLogger  # noqa: E402
from configparser import ConfigParser  # noqa: E402
from swift.common.wsgi import SwiftHttpProtocol, loadapp  # noqa: E402



class DictCache(object):
    # What tempauth and s3api want from memcache (Swift's `cache` middleware), in this process:
    # there is one proxy, so a dict is the whole cache and no memcached needs to run.
    def __init__(self):
        self.data = {}

    def get(self, key, raise_on_error=False):
        return self.data.get(key)

    def set(self, key, value, serialize=True, time=0, min_compress_len=0, raise_on_error=False):
        self.data[key] = value

    def incr(self, key, delta=1, time=0):
        self.data[key] = int(self.data.get(key) or 0) + delta
        return self.data[key]

    def decr(self, key, delta=1, time=0):
        return self.incr(key, -delta, time)

    def delete(self, key, server_key=None):
        self.data.pop(key, None)

    def get_multi(self, keys, server_key):
        return [self.data.get(k) for k in keys]

    def set_multi(self, mapping, server_key, serialize=True, time=0, min_compress_len=0):
        self.data.update(mapping)


def with_cache(app, cache):
    def handle(env, start_response):
        env['swift.cache'] = cache
        return app(env, start_response)

    return handle


os.environ['TZ'] = 'UTC+0'

# MOSAIC_SWIFT_PROFILE=FILE: a cProfile of the whole process (all four servers), written to FILE
# when the process is told to stop (SIGTERM), for the benches' "where does Swift's CPU go".
profile_file = os.environ.get('MOSAIC_SWIFT_PROFILE')
if profile_file:
    import cProfile
    import signal

    profiler = cProfile.Profile()

    def dump_and_exit(signum, frame):
        profiler.disable()
        profiler.dump_stats(profile_file)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump_and_exit)
    profiler.enable()
cache = DictCache()
pool = eventlet.GreenPool()
for name in ('account', 'container', 'object', 'proxy'):
    path = os.path.join(directory, name + '-server.conf')
    conf = ConfigParser()
    conf.read(path)
    address = conf.defaults().get('bind_ip', '127.0.0.1')
    sock = eventlet.listen((address, int(conf.defaults()['bind_port'])))
    app = with_cache(loadapp(path, global_conf={'log_name': name + '-server'}), cache)
    pool.spawn(
        wsgi.server,
        sock,
        app,
        NullLogger(),
        protocol=SwiftHttpProtocol,
        socket_timeout=60,
        # The AWS SDK needs "ETag", not "Etag".
        capitalize_response_headers=False,
    )
print('ready', flush=True)
pool.waitall()
