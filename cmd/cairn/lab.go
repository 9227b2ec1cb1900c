package main

import (
	"github.com/spf13/cobra"
)

func labCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Measure the layers: workloads and attacks against a devnet",
	}
	return cmd
}
