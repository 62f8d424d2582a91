package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// flags holds the command line.
type flags struct {
	upstream    string // -upstream
	listen      string // -listen
	adminListen string // -admin-listen
	configFile  string // -config
	version     bool   // -version

	set map[string]bool // names of the flags given
}

// parseFlags parses args (without the program name). On -h it writes the
// usage to usage and returns flag.ErrHelp; any other error is one line
// naming the problem.
func parseFlags(args []string, usage io.Writer) (*flags, error) {
	f := &flags{set: make(map[string]bool)}
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.upstream, "upstream", "", "reverse mode in front of one upstream `URL` (route \"default\"); replaces the config file's routes")
	fs.StringVar(&f.listen, "listen", defaultListen, "traffic listener `address` (host:port)")
	fs.StringVar(&f.adminListen, "admin-listen", defaultAdminListen, "admin listener `address` (host:port): /metrics, /healthz, /readyz")
	fs.StringVar(&f.configFile, "config", "", "TOML configuration `file` (see config.example.toml); flags override it")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.Usage = func() {} // errors are reported in one line; -h is below

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(usage, "Usage: proxy [flags]\n\n"+
				"A caching HTTP proxy. With -upstream or a config file with routes it runs\n"+
				"in reverse mode; with neither it is a forward proxy for loopback clients.\n\nFlags:\n")
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, fmt.Errorf("%w (see -h)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: proxy takes flags only (see -h)", fs.Arg(0))
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

// loadConfig builds the configuration from f: the defaults, the -config
// file decoded over them, the flags over that, then the defaults that
// depend on the result. It returns the problems found, one per line.
func loadConfig(f *flags) (*Config, error) {
	c := defaultConfig()
	if f.configFile != "" {
		data, err := os.ReadFile(f.configFile)
		if err != nil {
			return nil, &problem{key: "-config", msg: err.Error()}
		}
		if err := decodeConfig(data, c); err != nil {
			return nil, err
		}
	}
	f.apply(c)
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// apply sets the fields of c that flags were given for, and records which
// flag set them so that problems name the flag.
func (f *flags) apply(c *Config) {
	c.setBy = make(map[string]string)
	if f.set["listen"] {
		c.Listen = f.listen
		c.setBy["listen"] = "-listen"
	}
	if f.set["admin-listen"] {
		c.AdminListen = f.adminListen
		c.setBy["admin_listen"] = "-admin-listen"
	}
	if f.set["upstream"] {
		c.Mode = "reverse"
		c.Routes = []RouteConfig{{Name: defaultRouteName, Upstream: f.upstream}}
		c.setBy["route[0].upstream"] = "-upstream"
	}
}
