"""/metrics in Prometheus's text format, protected by a bearer token.

prometheus_client (the Prometheus project's own Python client) writes the exposition format —
escaping, histogram buckets, `_total` suffixes, the content type — so we only gather numbers. The
numbers come from ops.metrics (shared through Redis, so one scrape sees every process) and from
gauges the apps hand in (wired in spoke/urls.py: the outbox's depth and oldest age, cheap reads
of a small partial index).
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ops.metrics import HISTOGRAMS, counters_read, histograms_read, parse_field, websockets_open

# A gauge the apps provide: (name, help, [(labels, value), ...]).
Gauge = tuple[str, str, list[tuple[dict[str, str], float]]]
GaugeSource = Callable[[], Iterable[Gauge]]

COUNTER_HELP = {
    "messages": "Outbound messages by what happened to them: sent (accepted by the provider), "
    "delivered, undelivered, failed (with the provider's error code), retried, review, cancelled.",
    "drain_batches": "Batches the outbox drain sent.",
}
HISTOGRAM_HELP = {
    "http_request_duration_seconds": "Time from the first to the last middleware, by the path's first segment.",
    "status_callback_lag_seconds": "From the provider accepting a message to its delivery report arriving.",
}


class SpokeCollector(Collector):
    def __init__(self, gauges: Iterable[GaugeSource]) -> None:
        self.gauges = list(gauges)

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._histograms()
        sockets = GaugeMetricFamily("spoke_websockets_open", "Open texter and back-office websockets, every process.")
        sockets.add_metric([], websockets_open())
        yield sockets
        for source in self.gauges:
            for name, help_text, samples in source():
                labels = sorted({key for sample_labels, _ in samples for key in sample_labels})
                family = GaugeMetricFamily(f"spoke_{name}", help_text, labels=labels)
                for sample_labels, value in samples:
                    family.add_metric([sample_labels.get(k, "") for k in labels], value)
                yield family

    def _counters(self) -> Iterator[Metric]:
        series: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for field, value in counters_read().items():
            name, field_labels = parse_field(field)
            series[name].append((field_labels, value))
        for name in sorted(set(series) | set(COUNTER_HELP)):
            samples = series.get(name, [])
            label_names = sorted({key for sample_labels, _ in samples for key in sample_labels})
            family = CounterMetricFamily(f"spoke_{name}", COUNTER_HELP.get(name, name), labels=label_names)
            for sample_labels, value in sorted(samples, key=lambda s: sorted(s[0].items())):
                family.add_metric([sample_labels.get(k, "") for k in label_names], value)
            yield family

    def _histograms(self) -> Iterator[Metric]:
        raw = histograms_read()
        for name, bounds in HISTOGRAMS.items():
            # label set (without le) -> bucket counts, sum
            groups: dict[tuple[tuple[str, str], ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
            sums: dict[tuple[tuple[str, str], ...], float] = defaultdict(float)
            for field, value in raw.items():
                field_name, labels = parse_field(field)
                if field_name == name:
                    le = labels.pop("le")
                    groups[tuple(sorted(labels.items()))][le] += value
                elif field_name == f"{name}_sum":
                    sums[tuple(sorted(labels.items()))] += value
            label_names = sorted({k for key in groups for k, _ in key})
            family = HistogramMetricFamily(f"spoke_{name}", HISTOGRAM_HELP[name], labels=label_names)
            for key, counts in sorted(groups.items()):
                cumulative, buckets = 0.0, []
                for bound in [*(str(b) for b in bounds), "+Inf"]:
                    cumulative += counts.get(bound, 0.0)
                    buckets.append((bound, cumulative))
                labels = dict(key)
                family.add_metric([labels.get(k, "") for k in label_names], buckets, sums[key])
            yield family


def _authorized(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if not expected or not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given.removeprefix("Bearer ").strip().encode(), expected.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest, gauges: Iterable[GaugeSource] = ()) -> HttpResponse:
    """Prometheus metrics. Off (404) without METRICS_TOKEN; 401 without the right bearer token."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: set METRICS_TOKEN to turn them on.")
    if not _authorized(request):
        response = HttpResponse(
            "Send 'Authorization: Bearer <METRICS_TOKEN>'.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SpokeCollector(gauges))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
