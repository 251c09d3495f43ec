module github.com/muster-sh/muster

go 1.26
