// Added by mqdrill's test bed build (scripts/testbed/build), not part of the upstream operator:
// controller-runtime v0.6 serves metrics on :8080 on every interface and the operator offers no
// flag to move it. With MQDRILL_METRICS_BIND_ADDRESS set, the metrics listen there instead.
package main

import (
	"os"

	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

func init() {
	if addr := os.Getenv("MQDRILL_METRICS_BIND_ADDRESS"); addr != "" {
		metrics.DefaultBindAddress = addr
	}
}
