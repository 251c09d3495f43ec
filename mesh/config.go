package mesh

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/muster-sh/muster/sched"
)

// Config sets up a Router. Start from DefaultConfig; the zero value of a
// field selects its default.
type Config struct {
	// MaxMessageSize bounds a frame's body in bytes. A larger frame read
	// from a link closes that link with a logged reason; a larger message
	// sent or routed is answered with a dead message "too large". Default
	// 64 MiB; at least 4096. Children inherit it.
	MaxMessageSize int
	// ShutdownGrace is how long Close waits for children to exit after
	// asking them to shut down before killing them. Default 3 s.
	ShutdownGrace time.Duration
	// Scheduler runs registered functions and other work that may block.
	// Default sched.Default().
	Scheduler *sched.Scheduler
	// Logger receives link errors and dropped messages. Default
	// slog.Default().
	Logger *slog.Logger
	// Debug adds remote stacks to CallErrors. Children inherit it.
	Debug bool
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		MaxMessageSize: DefaultMaxMessageSize,
		ShutdownGrace:  DefaultShutdownGrace,
	}
}

// Validate reports a field out of range, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	if c.MaxMessageSize != 0 && c.MaxMessageSize < minMessageSize {
		return fmt.Errorf("%w: MaxMessageSize %d, want at least %d", ErrInvalidConfig, c.MaxMessageSize, minMessageSize)
	}
	if c.MaxMessageSize > 1<<31 {
		return fmt.Errorf("%w: MaxMessageSize %d, want at most 2 GiB", ErrInvalidConfig, c.MaxMessageSize)
	}
	if c.ShutdownGrace < 0 {
		return fmt.Errorf("%w: ShutdownGrace %v, want >= 0", ErrInvalidConfig, c.ShutdownGrace)
	}
	return nil
}

func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Scheduler == nil {
		c.Scheduler = sched.Default()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
