//go:build race

package cluster_test

// raceEnabled builds the instances with the race detector when the test
// itself runs with it (make test): the cluster then finds the data races
// that only several concurrent requests show, and shares the build cache
// with the other packages' race builds.
const raceEnabled = true
