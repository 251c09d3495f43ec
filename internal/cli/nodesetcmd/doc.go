// Package nodesetcmd implements "muster nodeset", a drop-in replacement
// for ClusterShell 1.9's nodeset command (also run when the muster binary
// is invoked through a link named nodeset or cluset).
//
// It folds (-f), expands (-e), counts (-c), regroups (-r) and lists (-l,
// -L) node sets and range sets (-R), combines them (-x, -i, -X and the
// "," "!" "&" "^" operators), and reads them from standard input when no
// node set argument is given. Options are parsed with the rules of
// Python's optparse (combined short options, abbreviated long options,
// "--"), output bytes and exit statuses match the original tool, and
// groups come from the standard ClusterShell configuration
// (groups.conf, groups.conf.d, groups.d YAML files, CLUSTERSHELL_CFGDIR)
// through nodeset.LoadDefaultGroups.
package nodesetcmd
