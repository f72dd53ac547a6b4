"""mitmproxy addon for the benchmark: connect upstream to the loopback nginx instead of resolving
the Entra/ARM host names (the equivalent of authscope's --resolve). SNI and certificate checks stay
the logical host. Set BENCH_UPSTREAM=127.0.0.1:PORT."""
import os

_host, _port = os.environ["BENCH_UPSTREAM"].rsplit(":", 1)
_target = (_host, int(_port))


class Resolve:
    def server_connect(self, data):
        data.server.address = _target


addons = [Resolve()]
