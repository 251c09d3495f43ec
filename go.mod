module github.com/muster-sh/muster

go 1.26.0

require (
	github.com/kevinburke/ssh_config v1.6.0
	github.com/pkg/sftp v1.13.12
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/kr/fs v0.1.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
)
