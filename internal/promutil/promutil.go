// Package promutil registers Prometheus collectors so that a node restarted
// in the same process reuses its metrics instead of failing to register them
// again.
package promutil

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter returns a counter registered with reg (when not nil), or the one
// already registered under the same name and labels.
func Counter(reg prometheus.Registerer, opts prometheus.CounterOpts) prometheus.Counter {
	return register(reg, prometheus.NewCounter(opts))
}

// Gauge returns a gauge registered with reg (when not nil), or the one
// already registered under the same name and labels.
func Gauge(reg prometheus.Registerer, opts prometheus.GaugeOpts) prometheus.Gauge {
	return register(reg, prometheus.NewGauge(opts))
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: the same name with another shape
	}
	return c
}

// CounterVec returns a counter vector registered with reg (when not nil), or
// the one already registered under the same name.
func CounterVec(reg prometheus.Registerer, opts prometheus.CounterOpts, labels ...string) *prometheus.CounterVec {
	return register(reg, prometheus.NewCounterVec(opts, labels))
}
