module github.com/muster-sh/muster/bench

go 1.26.0

replace github.com/muster-sh/muster => ../

require (
	github.com/alitto/pond/v2 v2.7.1
	github.com/muster-sh/muster v0.0.0-00010101000000-000000000000
	github.com/panjf2000/ants/v2 v2.12.1
	golang.org/x/sync v0.24.0
)
