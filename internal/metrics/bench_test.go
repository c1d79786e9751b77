package metrics_test

import (
	"testing"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/metrics"
)

// The hooks run on every delivery and login: they must cost next to
// nothing.
func BenchmarkObserveDelivery(b *testing.B) {
	m := metrics.New(metrics.Options{})
	o := delivery.Observation{Op: "deliver", Local: 2, Bytes: 4096, Duration: 3 * time.Millisecond}
	for b.Loop() {
		m.ObserveDelivery(o)
	}
}

func BenchmarkObserveLogin(b *testing.B) {
	m := metrics.New(metrics.Options{})
	for b.Loop() {
		m.ObserveLogin("success")
	}
}
