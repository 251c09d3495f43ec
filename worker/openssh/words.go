package openssh

import (
	"fmt"

	"github.com/muster-sh/muster/worker/internal/proc"
)

// splitCommand splits a program string such as "ssh" or "sshpass -p x ssh"
// into words with ~ expanded. what names the setting in errors.
func splitCommand(what, s string) ([]string, error) {
	words, err := splitOptions(what, s)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s %q: %w: expected a program name", what, s, proc.ErrSyntax)
	}
	return words, nil
}

// splitOptions splits an options string into words with ~ expanded.
func splitOptions(what, s string) ([]string, error) {
	words, err := proc.SplitWords(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for i, w := range words {
		words[i] = proc.ExpandHome(w)
	}
	return words, nil
}
