global using Xunit;
global using PhantomMl.Grains;
