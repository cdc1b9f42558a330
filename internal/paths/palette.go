package paths

// Palette is the command palette's entries for the session, scoped to
// what it may do; ?from= names the page it was opened on.
const Palette = "/palette"
