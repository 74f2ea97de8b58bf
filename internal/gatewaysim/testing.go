package gatewaysim

// CleanupTB is the part of testing.TB that StartForTest uses.
type CleanupTB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartForTest starts an emulator for a test and closes it when the test
// ends; a failure to start fails the test.
func StartForTest(t CleanupTB, opts Options) *Sim {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("gatewaysim: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
