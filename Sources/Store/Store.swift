// The Store module. See DEVELOPERS.md for what it holds.
