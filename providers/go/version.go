package flagops

// Version of this module. Releases are tagged providers/go/vX.Y.Z, since the module lives in a
// subdirectory of the repository.
const Version = "0.1.0"
