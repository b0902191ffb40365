"""Steps the benchmark runs in a child process: `python -m benchmarks.child STEP '<json>'`.

A child has the benchmark's environment (its database, Redis, session engine) and reports its
own peak memory (`resource.getrusage`), which is the figure a bulk job's memory is judged by.
The answer is one line of JSON on stdout.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any


def _sessions(arguments: dict[str, Any]) -> dict[str, Any]:
    from accounts.models import User
    from benchmarks.data import session_cookies

    users = list(User.objects.filter(pk__in=arguments["users"]))
    return {str(k): v for k, v in session_cookies(users).items()}


def _import(arguments: dict[str, Any]) -> dict[str, Any]:
    from campaigns.importing import contacts_import_file
    from campaigns.models import Campaign

    job = contacts_import_file(campaign=Campaign.objects.get(pk=arguments["campaign"]), path=arguments["path"])
    return {"status": job.status, "imported": job.imported, "error": job.error}


def _assign(arguments: dict[str, Any]) -> dict[str, Any]:
    from accounts.models import User
    from campaigns.models import Campaign
    from campaigns.services import contacts_split_evenly

    campaign = Campaign.objects.get(pk=arguments["campaign"])
    shares = contacts_split_evenly(campaign=campaign, texters=User.objects.filter(pk__in=arguments["texters"]))
    return {"assigned": sum(shares.values()), "texters": len(shares)}


def _export(arguments: dict[str, Any]) -> dict[str, Any]:
    from campaigns.models import Campaign
    from texting.exports import export_run
    from texting.models import ExportJob

    campaign = Campaign.objects.get(pk=arguments["campaign"])
    job = export_run(job=ExportJob.objects.create(campaign=campaign))
    return {
        "status": job.status,
        "contacts_bytes": job.contacts_file.size,
        "messages_bytes": job.messages_file.size,
    }


STEPS = {"sessions": _sessions, "import": _import, "assign": _assign, "export": _export}


def main() -> None:
    step, arguments = sys.argv[1], json.loads(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoke.settings")
    import django

    django.setup()
    started = time.perf_counter()
    result = STEPS[step](arguments)
    seconds = time.perf_counter() - started
    # ru_maxrss is in kilobytes on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"step": step, "seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1), "result": result}))


if __name__ == "__main__":
    main()
