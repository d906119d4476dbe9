package main

import (
	"errors"
	"flag"
	"io"
	"strings"
)

// errHelp ends a command that printed its help: exit status 0.
var errHelp = errors.New("help shown")

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// newFlagSet returns a flag set that prints nothing on its own: run prints
// the one line that explains a mistake.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// ("user add bob --staff"), then fills every flag not given on the command
// line from the environment (PASSKEYD_<FLAG>). It returns the positional
// arguments.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printDefaults(fs, stdout)
				return nil, errHelp
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		values := []string{v}
		if _, repeatable := f.Value.(*stringList); repeatable {
			values = strings.Split(v, ",")
		}
		for _, v := range values {
			if e := fs.Set(f.Name, strings.TrimSpace(v)); e != nil {
				err = usagef("%s: invalid value %q for %s: %v", fs.Name(), v, name, e)
				return
			}
		}
	})
	return positional, err
}

// envName is the environment variable that stands in for a flag.
func envName(flagName string) string {
	return "PASSKEYD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func printDefaults(fs *flag.FlagSet, w io.Writer) {
	fs.SetOutput(w)
	defer fs.SetOutput(io.Discard)
	io.WriteString(w, "Usage of passkeyd "+fs.Name()+":\n")
	fs.PrintDefaults()
}
