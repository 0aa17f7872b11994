// kube-scheduler of the mqdrill test bed: the upstream command, built from the published
// k8s.io/kubernetes module (which cannot be go-installed: it replaces its staging modules
// with local paths; the go.mod next to this file pins the published ones instead).
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
