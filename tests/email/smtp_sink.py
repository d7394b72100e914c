"""An aiosmtpd handler that stores what it receives as files, for an SMTP server run in its own
process (``python -m aiosmtpd -n -l 127.0.0.1:PORT -c tests.email.smtp_sink.Collector DIR``):
no thread of the test process competes with the sender, as with a real server.

Each accepted message is ``DIR/<n>.eml`` with its envelope recipients in ``DIR/<n>.rcpt``
(written first, then the message renamed into place). Recipients listed in ``DIR/refuse`` get a
550.
"""

import itertools
import time
from pathlib import Path


class Collector:
    def __init__(self, directory: str) -> None:
        self.dir = Path(directory)
        self.seq = itertools.count()

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Collector takes the directory to write to")
        return cls(args[0])

    def _refused(self) -> set[str]:
        try:
            return set((self.dir / "refuse").read_text().split())
        except FileNotFoundError:
            return set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self._refused():
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = f"{time.time_ns()}-{next(self.seq):08d}"
        (self.dir / f"{n}.rcpt").write_text("\n".join(envelope.rcpt_tos))
        tmp = self.dir / f"{n}.tmp"
        tmp.write_bytes(envelope.content)
        tmp.rename(self.dir / f"{n}.eml")
        return "250 Message accepted for delivery"
