using PhantomMl.Grains.Training;

namespace PhantomMl.Tests.Training;

/// <summary>What experiment tracking accepts as run file paths, keys and project ids.</summary>
public sealed class TrackingValidationTests
{
    [Theory]
    [InlineData("model/weights.bin")]
    [InlineData("a b/c-d_e.f")]
    [InlineData("MLmodel")]
    public void A_relative_path_of_plain_segments_is_a_run_file(string path) => Assert.Equal(path, TrackingValidation.ArtifactPath(path));

    [Theory]
    [InlineData("")]
    [InlineData("/etc/passwd")]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("./x")]
    [InlineData("a/./x")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("a\\..\\b")]
    [InlineData("a\u0000b")]
    [InlineData("a\nb")]
    public void A_path_that_is_not_one_plain_relative_file_is_refused(string path) =>
        Assert.Equal(400, Assert.Throws<PhantomException>(() => TrackingValidation.ArtifactPath(path)).Status);

    [Fact]
    public void Paths_longer_than_1000_characters_are_refused() =>
        Assert.Equal(400, Assert.Throws<PhantomException>(() => TrackingValidation.ArtifactPath(new string('a', 1001))).Status);

    [Theory]
    [InlineData("loss")]
    [InlineData("train/loss")]
    [InlineData("val loss:top-1.5")]
    [InlineData("précision")]
    public void Mlflow_keys_are_accepted(string key) => Assert.Equal(key, TrackingValidation.Key(key));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("a/../b")]
    [InlineData("../b")]
    [InlineData("a=b")]
    [InlineData("a\tb")]
    public void Other_keys_are_refused(string key) => Assert.Equal(400, Assert.Throws<PhantomException>(() => TrackingValidation.Key(key)).Status);

    [Theory]
    [InlineData("1")]
    [InlineData("../0")]
    [InlineData("0123456789abcdef0123456789ABCDEF")]
    public void A_project_id_that_is_not_0_or_32_lowercase_hex_digits_names_no_project(string id) =>
        Assert.Equal(404, Assert.Throws<PhantomException>(() => TrackingValidation.ProjectId(id)).Status);
}
